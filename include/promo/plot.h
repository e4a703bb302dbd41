/* promo/plot.h: PNG charts, drawn by gnuplot run as a child process (DESIGN.md: one module in
 * src/eval owns plotting; never a hand-written image encoder).
 *
 * The data go through a temporary file, the script through another; gnuplot writes
 * PATH.tmp, which is renamed onto PATH only when gnuplot succeeded, so a failed plot leaves no
 * half-written image. The terminal is pngcairo when this gnuplot has it, else png (libgd).
 * The gnuplot binary is "gnuplot" on PATH, or $PROMO_GNUPLOT when set.
 *
 * Usage:
 *   promo_plot p = promo_plot_default();
 *   p.title = "Precision-recall"; p.xlabel = "recall"; p.ylabel = "precision";
 *   promo_plot_series s = {"model", recall, precision, n, "lines"};
 *   if (promo_plot_lines(&p, &s, 1, "ws/out/pr.png")) fprintf(stderr, "%s\n", promo_last_error());
 *
 * Errors: PROMO_ENOTFOUND when gnuplot is not installed ("install gnuplot-nox"), PROMO_EIO
 * when it fails (its first error line is in the message), PROMO_EUSAGE for bad arguments.
 * Thread-safety: calls may run concurrently (distinct temporary files).
 */
#ifndef PROMO_PLOT_H
#define PROMO_PLOT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_plot {
    const char *title;  /* chart title, or NULL */
    const char *xlabel; /* axis labels, or NULL */
    const char *ylabel;
    double xmin, xmax; /* axis ranges; NaN = automatic */
    double ymin, ymax;
    int diagonal; /* 1: draw the y = x reference line (calibration charts) */
    int width_px; /* image size in pixels */
    int height_px;
    const char *key; /* legend position in gnuplot's words ("top left"); NULL = bottom right */
    const char *const *xtic_labels; /* n_xtics names for x = 0, 1, ... (bar charts), or NULL */
    size_t n_xtics;
} promo_plot;

/* No title or labels, automatic ranges, no diagonal, 800 x 600. Titles and labels may hold
 * '\n' (a second line: a caption). */
promo_plot promo_plot_default(void);

typedef struct promo_plot_series {
    const char *title; /* legend entry, or NULL */
    const double *x;   /* n points; NaN points are skipped */
    const double *y;
    size_t n;
    const char *style; /* "lines" (NULL), "linespoints", "points", "steps" or "boxes" */
} promo_plot_series;

/* Draw n_series series on one chart into png_path (atomically). */
int promo_plot_lines(const promo_plot *p,
                     const promo_plot_series *s,
                     size_t n_series,
                     const char *png_path);

/* 1 if gnuplot can be run, else 0. */
int promo_plot_available(void);

/* The three evaluation charts, from scores/probabilities and 0/1 labels (metrics.h):
 *   pr          precision-recall curve, with the base rate as a reference line;
 *   calibration reliability curve (10 bins) against the diagonal;
 *   lift        cumulative gains by decile against random targeting.
 * `title` (may be NULL) names the model or target. */
int promo_plot_pr_curve(
    const double *score, const uint8_t *label, size_t n, const char *title, const char *png_path);
int promo_plot_calibration(
    const double *prob, const uint8_t *label, size_t n, const char *title, const char *png_path);
int promo_plot_lift(
    const double *score, const uint8_t *label, size_t n, const char *title, const char *png_path);

/* The cumulative-gains chart for a marketer: the model and baselines (score[k] named name[k],
 * k < n_models; NULL entries skipped) against random targeting, by 5% steps, with a caption
 * in plain words under the title ("Targeting the top 10% by the model reaches 24% of the
 * buyers; at random, 10%"). title may be NULL. */
int promo_plot_gains(const double *const *score,
                     const char *const *name,
                     size_t n_models,
                     const uint8_t *label,
                     size_t n,
                     const char *title,
                     const char *png_path);

#ifdef __cplusplus
}
#endif
#endif
