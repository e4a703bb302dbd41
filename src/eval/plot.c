/* PNG charts through gnuplot as a child process.
 *
 * Why a process and temp files: gnuplot is the plotting library here (gnuplot-nox); talking to
 * it through files keeps the data exact (%.17g) and lets us read its stderr for a useful
 * error. The script quotes every user string with gnuplot's single-quote rules ('' for ').
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/metrics.h>
#include <promo/plot.h>

extern char **environ;

promo_plot promo_plot_default(void)
{
    promo_plot p;
    memset(&p, 0, sizeof p);
    p.xmin = p.xmax = p.ymin = p.ymax = NAN;
    p.width_px = 800;
    p.height_px = 600;
    return p;
}

static const char *gnuplot_bin(void)
{
    const char *g = getenv("PROMO_GNUPLOT");
    return g && *g ? g : "gnuplot";
}

/* Run gnuplot on `script`, stderr to `errfile`. Returns the exit status, 127 if not found. */
static int run_gnuplot(const char *script, const char *errfile)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *argv[] = {(char *)gnuplot_bin(), (char *)script, NULL};
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err)
        return 127;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 127;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* The probe result is cached per gnuplot binary name ($PROMO_GNUPLOT may change in tests). */
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static char probed_bin[256];
static int have_gnuplot;
static int have_cairo;

static void probe(void)
{
    have_gnuplot = have_cairo = 0;
    char script[] = "/tmp/promo-plot-probe-XXXXXX";
    int fd = mkstemp(script);
    if (fd < 0)
        return;
    static const char probe_text[] = "set terminal pngcairo\n";
    ssize_t w = write(fd, probe_text, sizeof probe_text - 1);
    close(fd);
    if (w == (ssize_t)(sizeof probe_text - 1)) {
        int st = run_gnuplot(script, "/dev/null");
        have_gnuplot = st != 127;
        have_cairo = st == 0;
    }
    unlink(script);
}

int promo_plot_available(void)
{
    pthread_mutex_lock(&probe_lock);
    const char *bin = gnuplot_bin();
    if (strcmp(bin, probed_bin) != 0) {
        probe();
        snprintf(probed_bin, sizeof probed_bin, "%s", bin);
    }
    int ok = have_gnuplot;
    pthread_mutex_unlock(&probe_lock);
    return ok;
}

/* gnuplot single-quoted string: ' doubles, newlines become spaces. */
static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; s && *s; s++) {
        if (*s == '\'')
            fputs("''", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

/* `set title|xlabel|ylabel "text"` when text is given; noenhanced keeps '_' literal. A '\n'
 * in text starts a second line (gnuplot's string concatenation with a double-quoted "\n"). */
static void set_text(FILE *fs, const char *what, const char *text)
{
    if (!text)
        return;
    fprintf(fs, "set %s ", what);
    for (const char *line = text;;) {
        const char *nl = strchr(line, '\n');
        char one[512];
        snprintf(one, sizeof one, "%.*s", nl ? (int)(nl - line) : (int)strlen(line), line);
        put_quoted(fs, one);
        if (!nl)
            break;
        fputs(" . \"\\n\" . ", fs);
        line = nl + 1;
    }
    fputs(" noenhanced\n", fs);
}

/* `set xrange|yrange [lo:hi]` with NaN ends left to gnuplot; nothing when both are NaN. */
static void set_range(FILE *fs, const char *what, double lo, double hi)
{
    if (isnan(lo) && isnan(hi))
        return;
    fprintf(fs, "set %s [", what);
    if (!isnan(lo))
        fprintf(fs, "%.17g", lo);
    fputc(':', fs);
    if (!isnan(hi))
        fprintf(fs, "%.17g", hi);
    fputs("]\n", fs);
}

static const char *style_of(const char *s)
{
    static const char *const ok[] = {"lines", "linespoints", "points", "steps", "boxes"};
    if (!s)
        return "lines";
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!strcmp(s, ok[i]))
            return ok[i];
    return NULL;
}

/* First line of gnuplot's stderr, for the error message. */
static void first_error_line(const char *errfile, char *buf, size_t n)
{
    buf[0] = '\0';
    FILE *f = fopen(errfile, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\n");
        line[len] = '\0';
        if (len && strspn(line, " ^") != len) {
            snprintf(buf, n, "%s", line);
            /* gnuplot prints the offending line, then the message: keep reading once. */
            if (strstr(line, "line") || strstr(line, "error") || strstr(line, "Cannot"))
                break;
        }
    }
    fclose(f);
}

int promo_plot_lines(const promo_plot *p,
                     const promo_plot_series *s,
                     size_t n_series,
                     const char *png_path)
{
    if (!p || !s || n_series == 0 || !png_path || !*png_path)
        return promo_fail(PROMO_EUSAGE, "plot: nothing to draw or no output path");
    if (p->width_px < 64 || p->width_px > 8000 || p->height_px < 64 || p->height_px > 8000)
        return promo_fail(PROMO_EUSAGE, "plot: image size %d x %d is out of range", p->width_px,
                          p->height_px);
    for (size_t k = 0; k < n_series; k++)
        if (!style_of(s[k].style) || (s[k].n && (!s[k].x || !s[k].y)))
            return promo_fail(PROMO_EUSAGE, "plot: series %zu has a bad style or no data", k);
    if (!promo_plot_available())
        return promo_fail(PROMO_ENOTFOUND,
                          "plot: gnuplot not found (%s); install gnuplot-nox (tools/deps.sh)",
                          gnuplot_bin());

    char data[] = "/tmp/promo-plot-data-XXXXXX", script[] = "/tmp/promo-plot-gp-XXXXXX";
    char errf[] = "/tmp/promo-plot-err-XXXXXX";
    int fdd = mkstemp(data), fds = mkstemp(script), fde = mkstemp(errf);
    char *tmp_png = NULL;
    FILE *fd = NULL, *fs = NULL;
    int rc = PROMO_OK;
    if (fdd < 0 || fds < 0 || fde < 0) {
        rc = promo_fail(PROMO_EIO, "plot: cannot create temporary files: %s", strerror(errno));
        goto done;
    }
    close(fde);
    fd = fdopen(fdd, "w");
    fs = fdopen(fds, "w");
    if (!fd || !fs) {
        rc = promo_fail(PROMO_EIO, "plot: cannot open temporary files");
        goto done;
    }
    fdd = fds = -1;
    /* One gnuplot data block per series (blocks separated by two blank lines: index k). */
    for (size_t k = 0; k < n_series; k++) {
        int any = 0;
        for (size_t i = 0; i < s[k].n; i++) {
            if (isnan(s[k].x[i]) || isnan(s[k].y[i]))
                continue;
            fprintf(fd, "%.17g %.17g\n", s[k].x[i], s[k].y[i]);
            any = 1;
        }
        if (!any) /* an empty block would shift the indices of the next ones */
            fprintf(fd, "NaN NaN\n");
        fprintf(fd, "\n\n");
    }
    size_t plen = strlen(png_path);
    tmp_png = promo_malloc(plen + 8);
    if (!tmp_png) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    snprintf(tmp_png, plen + 8, "%s.tmp", png_path);

    fprintf(fs, "set terminal %s size %d,%d\nset output ", have_cairo ? "pngcairo" : "png",
            p->width_px, p->height_px);
    put_quoted(fs, tmp_png);
    fprintf(fs, "\nset grid\nset key %s box opaque\n", p->key ? p->key : "bottom right");
    set_text(fs, "title", p->title);
    set_text(fs, "xlabel", p->xlabel);
    set_text(fs, "ylabel", p->ylabel);
    set_range(fs, "xrange", p->xmin, p->xmax);
    set_range(fs, "yrange", p->ymin, p->ymax);
    if (p->xtic_labels && p->n_xtics) {
        /* categories on x (bar charts): their names under 0, 1, ... */
        fputs("set xtics (", fs);
        for (size_t k = 0; k < p->n_xtics; k++) {
            fputs(k ? ", " : "", fs);
            put_quoted(fs, p->xtic_labels[k] ? p->xtic_labels[k] : "");
            fprintf(fs, " %zu", k);
        }
        fputs(") noenhanced\nset boxwidth 0.6\nset style fill solid 0.6 border -1\n", fs);
    }
    fputs("plot ", fs);
    for (size_t k = 0; k < n_series; k++) {
        if (k)
            fputs(", ", fs);
        put_quoted(fs, data);
        fprintf(fs, " index %zu using 1:2 with %s lw 2", k, style_of(s[k].style));
        if (s[k].title) {
            fputs(" title ", fs);
            put_quoted(fs, s[k].title);
            fputs(" noenhanced", fs);
        } else {
            fputs(" notitle", fs);
        }
    }
    if (p->diagonal)
        fputs(", x with lines dt 2 lc rgb 'gray' title 'perfect'", fs);
    fputs("\nset output\n", fs);
    if (fflush(fd) || ferror(fd) || fflush(fs) || ferror(fs)) {
        rc = promo_fail(PROMO_EIO, "plot: cannot write temporary files");
        goto done;
    }
    fclose(fd);
    fclose(fs);
    fd = fs = NULL;

    int st = run_gnuplot(script, errf);
    if (st != 0) {
        char msg[512];
        first_error_line(errf, msg, sizeof msg);
        rc = promo_fail(st == 127 ? PROMO_ENOTFOUND : PROMO_EIO, "plot: gnuplot failed (%d): %s",
                        st, msg[0] ? msg : "no message");
        unlink(tmp_png);
        goto done;
    }
    /* gnuplot closed the file on `set output`; make it durable before the rename. */
    int fo = open(tmp_png, O_RDONLY | O_CLOEXEC);
    if (fo < 0) {
        rc = promo_fail(PROMO_EIO, "plot: gnuplot wrote no image to %s", tmp_png);
        goto done;
    }
    fsync(fo);
    close(fo);
    if (rename(tmp_png, png_path) != 0) {
        rc = promo_fail(PROMO_EIO, "plot: %s: %s", png_path, strerror(errno));
        unlink(tmp_png);
    }
done:
    if (fd)
        fclose(fd);
    if (fs)
        fclose(fs);
    if (fdd >= 0)
        close(fdd);
    if (fds >= 0)
        close(fds);
    unlink(data);
    unlink(script);
    unlink(errf);
    promo_free(tmp_png);
    return rc;
}

int promo_plot_pr_curve(
    const double *score, const uint8_t *label, size_t n, const char *title, const char *png_path)
{
    double *rec = NULL, *prec = NULL;
    size_t m = 0;
    int rc = promo_pr_curve(score, label, n, &rec, &prec, &m);
    if (rc)
        return rc;
    double pos = 0.0;
    for (size_t i = 0; i < n; i++)
        pos += label[i];
    double bx[2] = {0.0, 1.0}, by[2] = {pos / (double)n, pos / (double)n};
    char t[256];
    snprintf(t, sizeof t, "Precision-recall%s%s", title ? ": " : "", title ? title : "");
    promo_plot p = promo_plot_default();
    p.title = t;
    p.xlabel = "recall";
    p.ylabel = "precision";
    p.xmin = 0.0;
    p.xmax = 1.0;
    p.ymin = 0.0;
    p.ymax = 1.0;
    p.key = "top right"; /* the curve ends bottom right, where the default would cover it */
    promo_plot_series s[2] = {{"model", rec, prec, m, "lines"}, {"base rate", bx, by, 2, "lines"}};
    rc = promo_plot_lines(&p, s, 2, png_path);
    promo_free(rec);
    promo_free(prec);
    return rc;
}

int promo_plot_calibration(
    const double *prob, const uint8_t *label, size_t n, const char *title, const char *png_path)
{
    double mp[10], fp[10], ece = 0.0;
    size_t cnt[10];
    int rc = promo_reliability(prob, label, n, 10, mp, fp, cnt, &ece);
    if (rc)
        return rc;
    /* A bin of a handful of customers is noise (one buyer among three reads 0.33 or 1.0):
     * bins under 10 customers are not drawn, and every bin's count is under the chart. */
    char counts[400], xl[560];
    size_t k = 0;
    for (int b = 0; b < 10; b++) {
        k += (size_t)snprintf(counts + k, sizeof counts - k, "%s%zu", b ? " | " : "", cnt[b]);
        if (k >= sizeof counts)
            k = sizeof counts - 1;
        if (cnt[b] < 10)
            mp[b] = fp[b] = NAN;
    }
    snprintf(xl, sizeof xl,
             "mean predicted probability\ncustomers in the bins 0-0.1 ... 0.9-1: %s\n(bins of "
             "fewer than 10 customers are not drawn)",
             counts);
    char t[256];
    snprintf(t, sizeof t, "Calibration%s%s (ECE %.4f)", title ? ": " : "", title ? title : "", ece);
    promo_plot p = promo_plot_default();
    p.title = t;
    p.key = "top left";
    p.xlabel = xl;
    p.ylabel = "observed frequency";
    p.xmin = 0.0;
    p.xmax = 1.0;
    p.ymin = 0.0;
    p.ymax = 1.0;
    p.diagonal = 1;
    promo_plot_series s = {"model", mp, fp, 10, "linespoints"};
    return promo_plot_lines(&p, &s, 1, png_path);
}

int promo_plot_lift(
    const double *score, const uint8_t *label, size_t n, const char *title, const char *png_path)
{
    double gain[11], frac[11], lift[10], rnd[11];
    gain[0] = frac[0] = rnd[0] = 0.0;
    int rc = promo_gains_curve(score, label, n, 10, gain + 1, lift);
    if (rc)
        return rc;
    for (int i = 1; i <= 10; i++)
        frac[i] = rnd[i] = i / 10.0;
    char t[256];
    snprintf(t, sizeof t, "Cumulative gains%s%s (top-decile lift %.2f)", title ? ": " : "",
             title ? title : "", lift[0]);
    promo_plot p = promo_plot_default();
    p.title = t;
    p.xlabel = "share of customers targeted (by score)";
    p.ylabel = "share of buyers reached";
    p.xmin = 0.0;
    p.xmax = 1.0;
    p.ymin = 0.0;
    p.ymax = 1.0;
    promo_plot_series s[2] = {{"model", frac, gain, 11, "linespoints"},
                              {"random", frac, rnd, 11, "lines"}};
    return promo_plot_lines(&p, s, 2, png_path);
}

int promo_plot_gains(const double *const *score,
                     const char *const *name,
                     size_t n_models,
                     const uint8_t *label,
                     size_t n,
                     const char *title,
                     const char *png_path)
{
    enum { STEPS = 20, MAXM = 8 };
    if (!score || !name || !label || n_models == 0 || n_models > MAXM || !score[0])
        return promo_fail(PROMO_EUSAGE, "plot: gains needs 1 to %d models, the first given", MAXM);
    double frac[STEPS + 1], rnd[STEPS + 1], gain[MAXM][STEPS + 1], lift[STEPS];
    promo_plot_series s[MAXM + 1];
    size_t ns = 0;
    for (int i = 0; i <= STEPS; i++)
        frac[i] = rnd[i] = (double)i / STEPS;
    for (size_t m = 0; m < n_models; m++) {
        if (!score[m])
            continue;
        gain[m][0] = 0.0;
        int rc = promo_gains_curve(score[m], label, n, STEPS, gain[m] + 1, lift);
        if (rc)
            return rc;
        s[ns++] = (promo_plot_series){name[m], frac, gain[m], STEPS + 1,
                                      m == 0 ? "linespoints" : "lines"};
    }
    s[ns++] = (promo_plot_series){"random", frac, rnd, STEPS + 1, "lines"};
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += label[i];
    char t[600];
    /* gain[0][2]: the share of buyers among the top 10% (2 steps of 5%). */
    snprintf(t, sizeof t,
             "Cumulative gains%s%s\nTargeting the top 10%% by the model reaches %.0f%% of the %zu "
             "buyers (at random: 10%%)",
             title ? ": " : "", title ? title : "", 100.0 * gain[0][2], pos);
    promo_plot p = promo_plot_default();
    p.title = t;
    p.xlabel = "share of customers targeted, best scores first";
    p.ylabel = "share of buyers reached";
    p.xmin = 0.0;
    p.xmax = 1.0;
    p.ymin = 0.0;
    p.ymax = 1.0;
    p.height_px = 640;
    return promo_plot_lines(&p, s, ns, png_path);
}
