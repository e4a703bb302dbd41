/* Tests of src/eval/plot.c: the three evaluation charts are PNG files, a missing gnuplot is a
 * clear error, and a failing plot leaves no file behind. */
#include <stdlib.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/plot.h>
#include <promo/rng.h>

#include "t.h"

static int is_png(const char *path)
{
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(head, 1, sizeof head, f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    return got == 8 && size > 1000 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8);
}

T_TEST(plot_evaluation_charts)
{
    if (!promo_plot_available())
        T_SKIP("gnuplot is not installed");
    promo_rng r;
    promo_rng_init(&r, 3, 0);
    size_t n = 500;
    double *s = promo_mallocn(n, sizeof *s);
    uint8_t *y = promo_mallocn(n, sizeof *y);
    T_ASSERT(s && y);
    for (size_t i = 0; i < n; i++) {
        s[i] = promo_rng_uniform(&r);
        y[i] = (uint8_t)promo_rng_bernoulli(&r, s[i]);
    }
    char path[3][512];
    const char *dir = t_tmpdir();
    snprintf(path[0], sizeof path[0], "%s/pr.png", dir);
    snprintf(path[1], sizeof path[1], "%s/cal.png", dir);
    snprintf(path[2], sizeof path[2], "%s/lift's.png", dir); /* a quote in the path */
    T_OK(promo_plot_pr_curve(s, y, n, "product:P1 'quoted'", path[0]));
    T_OK(promo_plot_calibration(s, y, n, NULL, path[1]));
    T_OK(promo_plot_lift(s, y, n, "any", path[2]));
    for (int k = 0; k < 3; k++)
        T_ASSERT_MSG(is_png(path[k]), "%s is not a PNG", path[k]);
    promo_free(s);
    promo_free(y);
}

T_TEST(plot_errors)
{
    const char *dir = t_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/missing-dir/x.png", dir);
    double x[2] = {0, 1}, y[2] = {0, 1};
    promo_plot p = promo_plot_default();
    promo_plot_series s = {"a", x, y, 2, "lines"};
    if (promo_plot_available()) {
        /* gnuplot cannot open the output: an error naming it, and no file. */
        T_ASSERT(promo_plot_lines(&p, &s, 1, path) != PROMO_OK);
        T_ASSERT(t_read_file(path, NULL) == NULL);
    }
    s.style = "rainbow";
    T_ASSERT_EQ_INT(promo_plot_lines(&p, &s, 1, path), PROMO_EUSAGE);
    /* Without gnuplot: a clear message naming the package. */
    s.style = "lines";
    setenv("PROMO_GNUPLOT", "/nonexistent/gnuplot", 1);
    int rc = promo_plot_lines(&p, &s, 1, path);
    unsetenv("PROMO_GNUPLOT");
    T_ASSERT_EQ_INT(rc, PROMO_ENOTFOUND);
    T_ASSERT_CONTAINS(promo_last_error(), "gnuplot-nox");
}
