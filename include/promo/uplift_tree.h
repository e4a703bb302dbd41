/* promo/uplift_tree.h: uplift trees and uplift random forests over a treatment/outcome set.
 *
 * Split criteria (Rzepakowski & Jaroszewicz 2012, "Decision trees for uplift modeling with
 * single and multiple treatments"): KL divergence, squared Euclidean distance (ED) and
 * chi-square between each treatment arm's outcome distribution and control's, averaged over
 * the treatment arms (lambda_i = 1 / (n_arms - 1), no between-treatment term: alpha = 1),
 * gain = D(after split) - D(node) divided by their normaliser I(A) (entropy/KL for KL,
 * Gini/ED for ED and chi-square, + 1/2). CTS (Zhao, Fang & Simchi-Levi 2017, contextual
 * treatment selection): gain = sum over children of share x the best arm's mean (control
 * included) - the node's best arm's mean, unnormalised. Binary outcomes: every criterion;
 * continuous outcomes: ED (squared difference of means) and CTS; KL and chi-square give
 * PROMO_EUSAGE.
 *
 * Histogram splits: every feature is binned ONCE into uint8 codes (quantiles of at most 100,000
 * sampled rows, max_bins - 1 value bins + code 0 for NaN) shared by all trees; a split is
 * "code <= b goes left", so missing values (code 0) always go left, and b = 0 separates the
 * missing rows from the rest. A node splits only if every arm keeps min_leaf rows on both
 * sides and depth < max_depth. A leaf's effect for arm a is mean_a - mean_control over its
 * rows (weighted when w is set); if an arm has no row in a leaf (honest estimation) the nearest
 * ancestor that has one is used.
 *
 * A tree (n_trees = 1) uses every row and every column (max_features only if set > 0). A
 * forest of n_trees grows each tree on round(subsample x n) rows drawn with replacement
 * (without replacement when honest), max_features x d columns drawn per split, and averages
 * the trees' leaf effects. Honest: a tree's rows are split in two random halves, one chooses
 * the splits, the other fills the leaves (Athey & Imbens 2016).
 *
 * Determinism: tree t draws from promo_rng stream (seed, t + 1); trees run in parallel
 * (OpenMP, n_threads, 0 = all) but each is grown by one thread, so results are bit-identical at
 * any thread count. Memory beyond x: the d x n byte code matrix (a quarter of x), and per tree
 * in flight (one per thread) 8 bytes per sampled row (row indices + partition scratch; an honest
 * subsample < 1 briefly 4 bytes per row more) and histograms (features per split x bins x arms
 * x 24 bytes); the data are never copied per thread. Prediction compares raw values with the
 * stored bin edges, so it needs no binned copy. Thread-safety: a fitted forest is read-only.
 *
 * Usage:
 *   promo_uplift_tree_params p = promo_uplift_tree_params_default();
 *   p.split = PROMO_SPLIT_CTS;
 *   promo_uplift_forest *f = NULL;
 *   if (promo_uplift_forest_fit(&p, &data, &f)) fprintf(stderr, "%s\n", promo_last_error());
 *   promo_uplift_forest_predict(f, x, n, d, effect);   (n x (n_arms - 1))
 *   promo_uplift_forest_free(f);
 *
 * Errors: PROMO_EUSAGE for bad parameters or shapes (or KL/chi-square on a continuous
 * outcome), PROMO_EINPUT for bad data (arm out of range, an arm without rows, a non-0/1 or
 * non-finite y, a negative or non-finite weight), PROMO_ENOMEM.
 */
#ifndef PROMO_UPLIFT_TREE_H
#define PROMO_UPLIFT_TREE_H

#include <stddef.h>
#include <stdint.h>

#include <promo/uplift_data.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum promo_uplift_split {
    PROMO_SPLIT_KL = 0,
    PROMO_SPLIT_ED = 1,
    PROMO_SPLIT_CHI = 2,
    PROMO_SPLIT_CTS = 3,
    PROMO_SPLIT_COUNT
} promo_uplift_split;

/* "kl", "ed", "chi", "cts"; NULL out of range. */
const char *promo_uplift_split_name(promo_uplift_split s);

typedef struct promo_uplift_tree_params {
    promo_uplift_split split; /* default ED */
    int max_depth;            /* 6 (0 = a single leaf) */
    size_t min_leaf;          /* rows per arm in a leaf (100), >= 1 */
    int n_trees;              /* FOREST: trees (100); TREE uses 1 */
    double max_features;      /* FOREST: share of columns per split (sqrt(d)/d if 0) */
    double subsample;         /* FOREST: rows per tree (bootstrap share, 1.0), in (0, 1] */
    int honest;               /* 1: half the rows choose splits, the other half fill
                                 leaves */
    int max_bins;             /* histogram bins per feature (64), 2..256, code 0 = NaN */
    uint64_t seed;
    int n_threads; /* 0 = all */
} promo_uplift_tree_params;

promo_uplift_tree_params promo_uplift_tree_params_default(void);

typedef struct promo_uplift_forest promo_uplift_forest; /* a tree is a 1-tree forest */

int promo_uplift_forest_fit(const promo_uplift_tree_params *p,
                            const promo_uplift_data *d,
                            promo_uplift_forest **out /* OUT */);
void promo_uplift_forest_free(promo_uplift_forest *f); /* NULL-safe */
/* Effects of every treatment arm against control, averaged over the trees. NaN in x is
 * missing (as in training). */
int promo_uplift_forest_predict(const promo_uplift_forest *f,
                                const float *x,
                                size_t n,
                                size_t d,
                                float *effect /* OUT: n x (n_arms-1) */);

int promo_uplift_forest_n_arms(const promo_uplift_forest *f);
int promo_uplift_forest_n_trees(const promo_uplift_forest *f);
size_t promo_uplift_forest_n_features(const promo_uplift_forest *f);
/* The feature tree `tree` splits its root on, -1 if the root is a leaf or tree is out of range. */
int promo_uplift_forest_root_feature(const promo_uplift_forest *f, int tree);
/* The fitted forest as bytes (promo's own format, little-endian): magic "PROMOUFT", format
 * version (u32, PROMO_UPLIFT_FOREST_FORMAT_VERSION), n_arms (u32), d (u64), n_trees (u32),
 * split, max_depth, honest, max_bins (u32 each, for the record), the importance (d doubles),
 * then per tree: n_nodes (u32), per node feature, bin (i32), thr (f32), left, right, parent
 * (i32), then the leaves' n_arms - 1 effects (f32) in node order; last the FNV-1a 64 of every
 * byte before it. What prediction needs is kept, not the bin edges, so a loaded forest
 * predicts bit for bit as the saved one but cannot be refitted. *out: new buffer of *n bytes
 * (promo_free). */
#define PROMO_UPLIFT_FOREST_FORMAT_VERSION 1u
int promo_uplift_forest_save(const promo_uplift_forest *f,
                             char **out /* OUT */,
                             size_t *n /* OUT */);
/* The forest in data[0..n): PROMO_EINPUT for damaged or foreign bytes (length, magic, checksum,
 * then every node: ids in range, children after their parent, finite leaf effects), never a
 * crash; PROMO_EVERSION for another version; PROMO_ENOMEM. *out: new handle. */
int promo_uplift_forest_load(const void *data, size_t n, promo_uplift_forest **out /* OUT */);

/* Split importance: the criterion gain (unnormalised, weighted by the node's row share) summed
 * per feature over every split of every tree, divided by the number of trees. */
int promo_uplift_forest_importance(const promo_uplift_forest *f, double *imp /* OUT: d */);

#ifdef __cplusplus
}
#endif
#endif
