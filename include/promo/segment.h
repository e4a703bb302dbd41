/* promo/segment.h: customer segments: spend tiers, clusters, cluster profiles and personas.
 *
 * Everything here reads the customer features of features.h as of one cutoff; nothing is
 * recomputed differently:
 *   - spend tiers are features.h's spend_tier (quartiles of `monetary` among the buyers by
 *     mid-rank, non-buyers G1); a tier's revenue is the sum of its customers' `monetary`, its
 *     top categories come from the customer x category spend-share matrix (share x monetary);
 *   - clusters (k-means, HDBSCAN) are fitted on the clustering matrix below, buyers only;
 *   - a profile is the mean of customer features over a segment's members.
 *
 * The clustering matrix (promo_segment_matrix): one row per buyer (frequency > 0), the
 * PROMO_SEGMENT_N_COLUMNS columns of promo_segment_columns[], in that order:
 *     log1p(monetary), log1p(frequency), recency_days, log1p(avg_order_value),
 *     ipg_mean_days, basket_items, n_categories, n_stores, online_share, promo_spend_share,
 *     p_alive
 * standardised (mean 0, sd 1; a missing value, e.g. the gap of a one-order customer or
 * p_alive without a CLV fit, becomes the column mean, i.e. 0). Why these: they describe how
 * much, how often, how recently, how broadly and where a customer buys. Money and counts are
 * log-scaled because spend is heavy-tailed and squared distances would otherwise be decided
 * by a handful of big spenders. Left out: ids, scores that restate a column (r/f/m scores,
 * spend tier), per-day/hour profiles and category shares (dozens of sparse columns that
 * would swamp the eleven above), contact counts (they measure the retailer, not the customer).
 *
 * Personas (promo_segment_personas): each segment's profile is compared with the population's
 * (all buyers) and the first rule that holds names it:
 *   1. churn-risk: mean recency_days >= 1.5 x the population's, or mean p_alive at least
 *      0.15 below the population's (when P(alive) was fitted);
 *   2. loyal:      mean frequency >= 1.5 x the population's and mean monetary >= 1.25 x;
 *   3. entry:      mean frequency <= 0.5 x the population's or mean monetary <= 0.4 x;
 *   4. regular:    otherwise.
 * HDBSCAN's noise is profiled as its own segment (-1) and gets no persona.
 * The description reads "high spend, shops weekly, 92% still active": spend level by the
 * ratio m of mean monetary to the population's (high >= 1.5, above average >= 1.1, average
 * >= 0.75, below average >= 0.4, low below); cadence by the mean inter-purchase gap g in days
 * (weekly <= 10, fortnightly <= 21, monthly <= 45, every few months <= 120, rarely above; "mostly
 * single orders" when under half its members have two orders); activity as mean P(alive) in
 * percent, preceded by "last order N days ago" (mean recency) when the segment is quiet (recency
 * >= 1.5 x the population's: BG/NBD gives every one-order customer P(alive) 1) or P(alive) is
 * missing. The population's means are over all buyers (not medians: a segment's mean is compared
 * with the same statistic).
 *
 * The stored segments: table `segments` (customer_id, method, segment, persona, as_of);
 * promo_segment_store replaces the rows of the result's method and keeps the others, in one
 * transaction. segment: the cluster (0..k-1), -1 for noise or a customer not clustered (no
 * purchase before the cutoff), the tier for tiers (0 = G1 .. 3 = VIP); persona: the persona
 * name (personas), the tier name (tiers), null otherwise.
 *
 * Usage:
 *   promo_segment_params p = promo_segment_params_default();
 *   p.method = PROMO_SEGMENT_PERSONAS;
 *   promo_segment_result r;
 *   if (promo_segment_run(store, &p, &r) || promo_segment_store(store, &r)) ... error ...
 *   for (size_t s = 0; s < r.n_profiles; s++)
 *       printf("%s: %s\n", promo_segment_persona_name(r.profiles[s].persona),
 *              r.profiles[s].description);
 *   promo_segment_result_free(&r);
 *
 * Ownership: results are the caller's structs; their arrays are owned and freed by the
 * matching _free (NULL-safe on a zeroed struct). Thread-safety: none shared; results do not
 * depend on the thread count.
 */
#ifndef PROMO_SEGMENT_H
#define PROMO_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include <promo/features.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

/* Methods (append only). */
typedef enum promo_segment_method {
    PROMO_SEGMENT_KMEANS = 0,
    PROMO_SEGMENT_HDBSCAN = 1,
    PROMO_SEGMENT_TIERS = 2,
    PROMO_SEGMENT_PERSONAS = 3, /* k-means, then the persona rules */
    PROMO_SEGMENT_METHOD_COUNT
} promo_segment_method;

/* Personas (append only). */
typedef enum promo_segment_persona {
    PROMO_PERSONA_NONE = -1, /* noise / not mapped */
    PROMO_PERSONA_LOYAL = 0,
    PROMO_PERSONA_REGULAR = 1,
    PROMO_PERSONA_ENTRY = 2,
    PROMO_PERSONA_CHURN_RISK = 3,
    PROMO_PERSONA_COUNT
} promo_segment_persona;

/* "kmeans", "hdbscan", "tiers", "personas"; "loyal", "regular", "entry", "churn-risk" ("none"
 * otherwise). Static strings. */
const char *promo_segment_method_name(int method);
const char *promo_segment_persona_name(int persona);

/* ------------------------------------------------------------------- spend tiers ---- */

#define PROMO_SEGMENT_TOP_CATEGORIES 3

typedef struct promo_segment_tier {
    int tier;           /* promo_spend_tier */
    size_t n_customers; /* customers in the tier (non-buyers are G1) */
    size_t n_buyers;    /* of which with a purchase before the cutoff */
    double spend_min;   /* smallest / largest monetary among its buyers (NaN: none) */
    double spend_max;
    double revenue;       /* sum of monetary */
    double revenue_share; /* revenue / all customers' revenue (NaN when that is 0) */
    size_t n_top;         /* top categories below (<= PROMO_SEGMENT_TOP_CATEGORIES) */
    uint32_t top_category[PROMO_SEGMENT_TOP_CATEGORIES]; /* index into f->category_names */
    double top_share[PROMO_SEGMENT_TOP_CATEGORIES];      /* share of the tier's revenue */
    size_t n_top_products; /* the same by product (for data without categories) */
    uint32_t top_product[PROMO_SEGMENT_TOP_CATEGORIES]; /* products-table row */
    double top_product_share[PROMO_SEGMENT_TOP_CATEGORIES];
} promo_segment_tier;

/* The four tiers of f, VIP first (out[0] = VIP .. out[3] = G1). Top categories come from
 * f->category_share, top products from f->interactions[PROMO_IX_SPEND]. Errors: PROMO_EINPUT
 * when f lacks the monetary column, PROMO_ENOMEM. */
int promo_segment_tiers(const promo_features *f, promo_segment_tier out[PROMO_TIER_COUNT]);

/* ------------------------------------------------------- the clustering matrix ---- */

#define PROMO_SEGMENT_N_COLUMNS 11
/* The names of the clustering columns ("log1p(monetary)", ...), see the top comment. */
extern const char *const promo_segment_columns[PROMO_SEGMENT_N_COLUMNS];

/* The standardised clustering matrix of f's buyers: *X (n x PROMO_SEGMENT_N_COLUMNS,
 * row-major, promo_free) and *rows (n rows of f, promo_free). Errors: PROMO_EINPUT when f
 * lacks a column, PROMO_ENOMEM. */
int promo_segment_matrix(const promo_features *f,
                         float **X /* OUT */,
                         uint32_t **rows /* OUT */,
                         size_t *n /* OUT */);

/* ------------------------------------------------------ profiles and personas ---- */

typedef struct promo_segment_profile {
    int32_t segment;      /* label; -1 = noise */
    size_t size;          /* members */
    double size_share;    /* size / profiled customers */
    double revenue_share; /* sum monetary / profiled customers' sum */
    /* means over members (NaN values skipped; NaN when none) */
    double spend;        /* monetary */
    double frequency;    /* orders */
    double recency_days; /* days since the last order */
    double gap_days;     /* ipg_mean_days (members with >= 2 orders) */
    double n_stores;
    double n_categories;
    double online_share;
    double clv; /* clv_<H>d */
    double p_alive;
    double repeat_share;   /* share of members with >= 2 orders */
    int persona;           /* promo_segment_persona (after promo_segment_personas) */
    char description[128]; /* "high spend, shops weekly, 92% still active" */
} promo_segment_profile;

/* Profile the segments given by labels (one per row listed in rows, n rows of f; labels
 * 0..n_labels-1, or -1 = noise). *out gets one profile per label that has members, in label
 * order, then noise when present (*n_out of them, promo_free); *pop the profile of all n rows
 * (segment -2). Descriptions are filled, personas set to NONE. Errors: PROMO_EINPUT for a
 * missing column or a label out of range, PROMO_ENOMEM. */
int promo_segment_profiles(const promo_features *f,
                           const uint32_t *rows,
                           const int32_t *labels,
                           size_t n,
                           int n_labels,
                           promo_segment_profile **out /* OUT */,
                           size_t *n_out /* OUT */,
                           promo_segment_profile *pop /* OUT */);

/* Fill seg->description against the population's profile (see the top comment). */
void promo_segment_describe(promo_segment_profile *seg, const promo_segment_profile *pop);
/* The persona of a profile against the population's (rules in the top comment). */
int promo_segment_persona_of(const promo_segment_profile *seg, const promo_segment_profile *pop);
/* Set the persona of every profile (noise excepted). */
void promo_segment_personas(promo_segment_profile *profiles,
                            size_t n,
                            const promo_segment_profile *pop);

/* ------------------------------------------------------------ the whole run ---- */

typedef struct promo_segment_params {
    promo_segment_method method;
    int k;                    /* clusters; 0 = chosen by silhouette over k_min..k_max */
    int k_min, k_max;         /* (default 2..8; personas search from 4 at least, so that
                                 every persona can appear) */
    size_t silhouette_sample; /* rows the silhouette is computed on (default 5000) */
    int n_init;               /* k-means restarts (default 4) */
    size_t min_cluster_size;  /* HDBSCAN (default 0 = max(5, buyers / 100));
                                 core distances from min(10, it) neighbours */
    int64_t as_of;            /* cutoff; 0 = the day after the last transaction */
    uint64_t seed;            /* (default 1) */
    int clv;                  /* 1 (default): fit BG/NBD for p_alive and clv */
    int n_threads;            /* 0 = OpenMP default */
} promo_segment_params;

promo_segment_params promo_segment_params_default(void);

typedef struct promo_segment_result {
    promo_segment_method method;
    int64_t as_of;                   /* the cutoff used */
    promo_features *f;               /* the features (owned) */
    int32_t *segment;                /* f->n_customers labels (see the top comment) */
    uint8_t *clustered;              /* f->n_customers: 1 = a row of the clustering matrix
                                        (a buyer) */
    int *persona;                    /* f->n_customers persona or NONE (personas/tiers) */
    size_t n_clustered;              /* buyers clustered */
    int n_segments;                  /* clusters (or 4 tiers) */
    promo_segment_profile *profiles; /* n_profiles (clusters, then noise; tiers: VIP..G1) */
    size_t n_profiles;
    promo_segment_profile population;           /* all buyers */
    promo_segment_tier tiers[PROMO_TIER_COUNT]; /* tiers and personas: VIP first */
    int has_tiers;
    promo_table *products; /* the products table (owned), for product names */
    /* k-means */
    double inertia;           /* of the kept fit (NaN otherwise) */
    double silhouette;        /* mean silhouette of the labels (NaN if not computed) */
    int k_min, k_max;         /* the K search when K was chosen (else 0, 0) */
    double *curve_inertia;    /* k_max - k_min + 1 entries (owned) or NULL */
    double *curve_silhouette; /* same */
    size_t n_noise;           /* HDBSCAN: noise points */
} promo_segment_result;

/* Features as of p->as_of from the workspace (promo_panel_load_tables), then the method.
 * Errors: PROMO_EUSAGE for bad params (k > buyers, ...), PROMO_ENOTFOUND without
 * transactions, those of the feature and clustering code. */
int promo_segment_run(promo_store *s,
                      const promo_segment_params *p,
                      promo_segment_result *out /* OUT */);
void promo_segment_result_free(promo_segment_result *r);

/* A product's name (else its id) by products-table row, for printing top products; "?" when
 * unknown. Borrowed from r. */
const char *promo_segment_product_name(const promo_segment_result *r, uint32_t row);
/* 1 when f's categories say nothing (a single category, "unknown": no products.category),
 * so that tiers are better described by their top products. */
int promo_segment_no_categories(const promo_features *f);

/* The result as the rows of table `segments` for its method (see the top comment). */
int promo_segment_table(const promo_segment_result *r, promo_table **out /* OUT */);
/* Replace the method's rows of table `segments` with r's, in one transaction. */
int promo_segment_store(promo_store *s, const promo_segment_result *r);

/* The generator's true segments (truth_customers.segment_true) aligned with r's rows:
 * *truth gets f->n_customers codes (0 frequent .. 3 rare, -1 unknown), promo_free.
 * PROMO_ENOTFOUND when the workspace has no truth_customers (not generated). */
int promo_segment_truth(promo_store *s, const promo_segment_result *r, int32_t **truth /* OUT */);

/* ------------------------------------------------------------- any numeric CSV ---- */

typedef struct promo_segment_data {
    size_t n, d;          /* rows, columns */
    char **names;         /* d column names (owned) */
    float *X;             /* n x d as read (standardised when asked) */
    int32_t *labels;      /* n labels, -1 = noise */
    float *probability;   /* HDBSCAN membership strength (NULL for k-means) */
    float *outlier_score; /* HDBSCAN GLOSH (NULL for k-means) */
    int n_clusters;
    double inertia;    /* k-means (NaN otherwise) */
    double silhouette; /* NaN when not computed */
    int k_min, k_max;  /* when K was chosen */
    double *curve_inertia, *curve_silhouette;
} promo_segment_data;

/* Read `path` (a CSV with a header, every column numeric, no empty field) and cluster it with
 * p->method (KMEANS or HDBSCAN; p->min_cluster_size 0 = 5), standardising the columns first
 * when `standardize`. Errors: PROMO_EINPUT "FILE:LINE:COL: column 'x': expected a number, got
 * \"abc\"" (or "...: missing value"), PROMO_EUSAGE for a bad method or K, the reader's. */
int promo_segment_data_run(const char *path,
                           const promo_segment_params *p,
                           int standardize,
                           promo_segment_data *out /* OUT */);
void promo_segment_data_free(promo_segment_data *d);

#ifdef __cplusplus
}
#endif
#endif
