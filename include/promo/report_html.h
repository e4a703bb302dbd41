/* promo/report_html.h: the evaluation report as a web page (`promo report`): report.html with
 * its PNG charts beside it and evaluation_report.txt, from what the workspace stores.
 *
 * Nothing is trained and no figure is computed on training data. What each section shows and
 * where its data come from:
 *   summary      plain words for a marketer, from the sections below (what the model finds,
 *                how the best strategy compares with broadcasting)
 *   propensity   the stored evaluations (report.h) of every target: the figures of the model
 *                and its baselines on the test window (later in time than training), and the
 *                charts `promo train` drew on that same window (precision-recall, calibration,
 *                cumulative gains), copied beside the page when it is written elsewhere
 *   uplift       the stored uplift evaluation (report_uplift.h) on the randomised test rows;
 *                the Qini curve on those same held-out rows: from the predictions training wrote
 *                (`promo train --model uplift --predictions-out <ws>/out/uplift_predictions.csv`),
 *                or, without that file (or with one of another training there), recomputed: the
 *                stored model scores the test rows of its own time split again (its cutoff and
 *                window; the split must give the stored split time and test count). Either way
 *                the curve is drawn only when its rows reproduce the stored Qini coefficient,
 *                so rows of another training are never shown as this model's
 *   strategies   promo_compare_run (compare.h) played now in a generated world's simulator
 *   segments     the stored `segments` table (segment.h) profiled on the features as of its
 *                cutoff: size, revenue share, spend, frequency, recency per segment
 *   recommenders the stored `recommend` evaluations, as a table
 * A missing piece (no model, not a generated world, no segmentation) is a section that says
 * which command makes it, not an error.
 *
 * Files (in out_dir): report.html (self-contained: inline CSS, images by relative name, no
 * script), evaluation_report.txt (the caller's text of `promo evaluate`, then every other stored
 * figure), report_*.png. Every file is written atomically (outfile.h, plot.h) and report.html
 * last, so a failure never leaves a page that names a missing chart. The store is only read.
 *
 * Errors: PROMO_EINPUT naming out_dir when it is not a directory or cannot be written, those
 * of the store, compare.h and segment.h, PROMO_EIO, PROMO_ENOMEM. Charts gnuplot cannot draw
 * (or no gnuplot) are left out with a line saying why.
 */
#ifndef PROMO_REPORT_HTML_H
#define PROMO_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_store promo_store;

#define PROMO_REPORT_PATH_MAX    1400
#define PROMO_REPORT_MAX_CHARTS  32
#define PROMO_REPORT_HTML_NAME   "report.html"
#define PROMO_REPORT_TEXT_NAME   "evaluation_report.txt"
#define PROMO_REPORT_UPLIFT_PRED "uplift_predictions.csv" /* in the workspace's out/ */

typedef struct promo_report_params {
    const char *out_dir;            /* NULL = the workspace's out/ (created when missing) */
    const char *product_id;         /* the strategy comparison's product; NULL = best seller */
    double discount_pct;            /* its offer (10) */
    size_t n_target;                /* N of its top-N strategies (0: a tenth of customers) */
    uint32_t n_draws;               /* simulator draws (200) */
    int compare;                    /* 1: play the strategy comparison (1) */
    int segments;                   /* 1: profile the stored segments (1) */
    const char *uplift_predictions; /* NULL = <ws>/out/uplift_predictions.csv, else the
                                       recomputation; a named file is the only source */
    int n_threads;                  /* features, simulator (0 = all cores) */
} promo_report_params;

promo_report_params promo_report_params_default(void);

/* The sections, in page order. */
typedef enum promo_report_section {
    PROMO_REPORT_SUMMARY = 0,
    PROMO_REPORT_PROPENSITY,
    PROMO_REPORT_UPLIFT,
    PROMO_REPORT_STRATEGIES,
    PROMO_REPORT_SEGMENTS,
    PROMO_REPORT_RECOMMENDERS,
    PROMO_REPORT_SECTION_COUNT
} promo_report_section;

/* "summary", "propensity", ... (static). */
const char *promo_report_section_name(promo_report_section s);

typedef struct promo_report_result {
    char html_path[PROMO_REPORT_PATH_MAX];
    char text_path[PROMO_REPORT_PATH_MAX];
    int present[PROMO_REPORT_SECTION_COUNT]; /* 1: the section has figures; 0: it says what
                                                to run */
    size_t n_charts;
    char charts[PROMO_REPORT_MAX_CHARTS][PROMO_REPORT_PATH_MAX]; /* PNGs the page shows */
    char compare_chart[PROMO_REPORT_PATH_MAX]; /* the strategy chart ("" if none) */
    char qini_source[64];   /* how the Qini curve was obtained ("" if not drawn) */
    char compare_line[600]; /* the optimized strategy against broadcasting in one line ("" if
                               not compared) */
} promo_report_result;

typedef struct promo_compare promo_compare;

/* The strategy comparison chart (out/strategy_comparison.png of promo compare, and the
 * report's): each available strategy's mean incremental profit as a bar, the two ends of its
 * interval (of level interval, over n_draws paired draws) as points. PROMO_EINPUT when no
 * strategy was available; the errors of promo_plot_lines. */
int promo_report_compare_chart(const promo_compare *cm,
                               unsigned n_draws,
                               double interval,
                               const char *path);

/* Check (and create, one level) the output directory: PROMO_EINPUT "--out DIR: ..." when it
 * is a file, its parent is missing, or it cannot be written. */
int promo_report_out_dir_check(const char *dir);

/* Write the report as described at the top. metrics_text (n bytes, may be NULL) opens
 * evaluation_report.txt: the caller prints what `promo evaluate` prints (the CLI owns that
 * printer). */
int promo_report_write_html(promo_store *s,
                            const promo_report_params *p,
                            const char *metrics_text,
                            size_t metrics_len,
                            promo_report_result *out /* OUT */);

/* What to do about a missing uplift model, for this workspace: the train command with its
 * real path when the workspace has exposures to learn from, else that an uplift model needs a
 * promotion log (exposures) first. Into out (n bytes); *has_exposures (may be NULL) 1 when the
 * exposures table has rows. */
void promo_report_uplift_hint(promo_store *s, char *out /* OUT */, size_t n, int *has_exposures);

#ifdef __cplusplus
}
#endif
#endif
