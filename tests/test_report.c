/* promo report: report.html, its charts and evaluation_report.txt (promo/report_html.h). */
#include "t.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <promo/plot.h>

#include "t_world.h"

static char g_ws[512]; /* the small world with every model the report shows */

/* The small world with a propensity model (charts drawn), the uplift model with its held-out
 * predictions, and a k-means segmentation. */
static const char *trained_ws(void)
{
    if (g_ws[0])
        return g_ws;
    t_world_write(g_ws, sizeof g_ws, 300, 30, 4, 12, 12000);
    char args[1600], *err = NULL;
    snprintf(args, sizeof args,
             "train --ws '%s' --target product:PROD00001 --rounds 20 --windows 1 -q", g_ws);
    int ec = t_promo(args, NULL, &err);
    T_ASSERT_MSG(ec == 0, "train propensity exit %d: %s", ec, err);
    free(err);
    snprintf(args, sizeof args,
             "train --ws '%s' --model uplift --rounds 15 --threads 1 -q --predictions-out "
             "'%s/out/uplift_predictions.csv'",
             g_ws, g_ws);
    ec = t_promo(args, NULL, &err);
    T_ASSERT_MSG(ec == 0, "train uplift exit %d: %s", ec, err);
    free(err);
    snprintf(args, sizeof args, "segment --ws '%s' --method kmeans --k 3 -q", g_ws);
    ec = t_promo(args, NULL, &err);
    T_ASSERT_MSG(ec == 0, "segment exit %d: %s", ec, err);
    free(err);
    return g_ws;
}

/* Every <img src="NAME"> of the page names a PNG in dir; returns how many. */
static int check_images(const char *html, const char *dir)
{
    int n = 0;
    for (const char *p = strstr(html, "<img src=\""); p; p = strstr(p + 1, "<img src=\"")) {
        p += 10;
        const char *q = strchr(p, '"');
        T_ASSERT(q != NULL);
        char path[1400];
        snprintf(path, sizeof path, "%s/%.*s", dir, (int)(q - p), p);
        T_ASSERT_MSG(!strchr(p, '/') || strchr(p, '/') > q, "image not beside the page: %.*s",
                     (int)(q - p), p);
        size_t len = 0;
        char *img = t_read_file(path, &len);
        T_ASSERT_MSG(img && len > 1000 && !memcmp(img, "\x89PNG\r\n\x1a\n", 8), "%s: not a PNG",
                     path);
        free(img);
        n++;
    }
    return n;
}

static char *read_in(const char *dir, const char *name)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n = 0;
    return t_read_file(path, &n);
}

T_TEST(report_names_every_section_and_its_charts_exist)
{
    const char *ws = trained_ws();
    char args[1400], out_dir[1200], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "report --ws '%s' --draws 20 --json", ws);
    int ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec == 0, "report exit %d: %s", ec, err);
    static const char *const sec[] = {"summary",    "propensity", "uplift",
                                      "strategies", "segments",   "recommenders"};
    /* every model the fixture trained gives a section with figures */
    for (int k = 0; k < 5; k++) {
        char key[64];
        snprintf(key, sizeof key, "\"%s\":true", sec[k]);
        T_ASSERT_CONTAINS(out, key);
    }
    T_ASSERT_CONTAINS(out, "\"recommenders\":false");
    snprintf(out_dir, sizeof out_dir, "%s/out", ws);
    char *html = read_in(out_dir, "report.html");
    T_ASSERT_MSG(html != NULL, "no report.html in %s", out_dir);
    for (size_t k = 0; k < sizeof sec / sizeof *sec; k++) {
        char id[64];
        snprintf(id, sizeof id, "<section id=\"%s\">", sec[k]);
        T_ASSERT_CONTAINS(html, id);
    }
    T_ASSERT_CONTAINS(html, "How to read it:");
    T_ASSERT_CONTAINS(html, "evaluation_report.txt");
    T_ASSERT(strstr(html, "<script") == NULL);
    /* the missing recommender says what to run */
    T_ASSERT_CONTAINS(html, "promo train --ws DIR --model als");
    int n = check_images(html, out_dir);
    if (promo_plot_available()) {
        /* pr, calibration, gains; Qini; strategies; segments */
        T_ASSERT_MSG(n == 6, "%d charts on the page", n);
        T_ASSERT_CONTAINS(out, "\"qini_source\":\"held-out predictions\"");
        T_ASSERT_CONTAINS(html, "report_qini_treatment.png");
        T_ASSERT_CONTAINS(html, "report_strategies.png");
        T_ASSERT_CONTAINS(html, "report_segments.png");
    }
    free(html);
    free(out);
    free(err);
}

/* evaluation_report.txt holds promo evaluate's figures: the model's AUC as --json gives it. */
T_TEST(report_text_holds_the_evaluated_auc)
{
    const char *ws = trained_ws();
    char args[1400], dir[1200], *out = NULL;
    snprintf(args, sizeof args, "evaluate --ws '%s' --json", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    const char *a = strstr(out, "\"xgboost\":{\"auc\":");
    T_ASSERT(a != NULL);
    double auc = atof(a + strlen("\"xgboost\":{\"auc\":"));
    T_ASSERT(auc > 0.5 && auc <= 1);
    free(out);
    snprintf(dir, sizeof dir, "%s/elsewhere", t_tmpdir());
    snprintf(args, sizeof args, "report --ws '%s' --out '%s' --no-compare -q", ws, dir);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    char *txt = read_in(dir, "evaluation_report.txt");
    T_ASSERT(txt != NULL);
    const char *line = strstr(txt, "\n  xgboost ");
    T_ASSERT_MSG(line != NULL, "no xgboost row in:\n%s", txt);
    double t_auc = atof(line + strlen("\n  xgboost "));
    T_ASSERT_MSG(fabs(t_auc - auc) < 0.0005 + 1e-12, "text auc %.4f vs evaluate %.6f", t_auc, auc);
    /* and the other stored evaluations, figure by figure */
    T_ASSERT_CONTAINS(txt, "qini_coef:treatment");
    free(txt);
    /* written elsewhere, the charts were copied beside the page */
    char *html = read_in(dir, "report.html");
    T_ASSERT(html != NULL);
    int n = check_images(html, dir);
    if (promo_plot_available())
        T_ASSERT_MSG(n >= 4, "%d charts", n);
    T_ASSERT_CONTAINS(html, "--no-compare");
    free(html);
}

/* An awk program that rewrites a predictions file with the first effect_<arm> column (the one
 * the Qini is computed from) in reverse row order: the same rows, another ranking. */
#define REVERSE_EFFECTS                                                                    \
    "NR==1{for(j=NF;j>=1;j--) if($j ~ /^effect_/) c=j; print; next} {r[NR]=$0; e[NR]=$c} " \
    "END{for(i=2;i<=NR;i++){n=split(r[i],f,\",\"); f[c]=e[NR+2-i]; s=f[1]; "               \
    "for(j=2;j<=n;j++) s=s \",\" f[j]; print s}}"

/* A Qini curve is drawn only from the predictions of the model that was evaluated. */
T_TEST(report_refuses_predictions_of_another_training)
{
    if (!promo_plot_available())
        T_SKIP("gnuplot not installed");
    const char *ws = trained_ws();
    char src[1200], bad[1200], dir[1200], args[6000], *out = NULL;
    snprintf(src, sizeof src, "%s/out/uplift_predictions.csv", ws);
    snprintf(bad, sizeof bad, "%s/shuffled.csv", t_tmpdir());
    /* the same rows with the effects of the rows reversed: another ranking */
    snprintf(args, sizeof args, "awk -F, '" REVERSE_EFFECTS "' '%s' > '%s'", src, bad);
    T_ASSERT_EQ_INT(t_sh(args, NULL, NULL), 0);
    snprintf(dir, sizeof dir, "%s/qini", t_tmpdir());
    snprintf(args, sizeof args,
             "report --ws '%s' --out '%s' --no-compare --no-segments --uplift-predictions '%s' "
             "--json",
             ws, dir, bad);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "\"qini_source\":\"\"");
    free(out);
    char *html = read_in(dir, "report.html");
    T_ASSERT(html != NULL);
    T_ASSERT_CONTAINS(html, "another training");
    T_ASSERT(strstr(html, "report_qini_") == NULL);
    free(html);
}

/* Without the predictions file (or with one of another training at the default place), the
 * stored model scores its own test split again; the curve is drawn only because that
 * reproduces the stored Qini coefficient. */
T_TEST(report_recomputes_the_qini_rows_from_the_model)
{
    if (!promo_plot_available())
        T_SKIP("gnuplot not installed");
    const char *ws = trained_ws();
    char copy[1200], args[4000], *out = NULL, *err = NULL;
    snprintf(copy, sizeof copy, "%s/copy", t_tmpdir());
    /* the default file replaced by one whose effects are in reverse row order */
    snprintf(args, sizeof args,
             "cp -r '%s' '%s' && f='%s/out/uplift_predictions.csv' && awk -F, '" REVERSE_EFFECTS
             "' \"$f\" > \"$f.x\" && mv \"$f.x\" \"$f\"",
             ws, copy, copy);
    T_ASSERT_EQ_INT(t_sh(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "report --ws '%s' --no-compare --no-segments --json", copy);
    int ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec == 0, "exit %d: %s", ec, err);
    T_ASSERT_CONTAINS(out, "\"qini_source\":\"recomputed on the test split\"");
    T_ASSERT_CONTAINS(out, "report_qini_treatment.png");
    free(out);
    free(err);
    /* a file named on the command line that is not there is bad input */
    snprintf(args, sizeof args, "report --ws '%s' --uplift-predictions '%s/nope.csv'", copy, copy);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "nope.csv");
    free(err);
}

/* A workspace without models (real data, not generated): every section says what to run. */
T_TEST(report_without_models_says_what_to_run)
{
    char ws[1100], args[1400], *out = NULL, *err = NULL;
    snprintf(ws, sizeof ws, "%s/real", t_tmpdir());
    snprintf(args, sizeof args,
             "ingest --ws %s -q tests/fixtures/ingest/customers.csv "
             "tests/fixtures/ingest/products.csv tests/fixtures/ingest/transactions.csv",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "report --ws %s", ws);
    int ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec == 0, "exit %d: %s", ec, err);
    T_ASSERT_CONTAINS(out, "no propensity section yet");
    T_ASSERT_CONTAINS(out, "no uplift section yet");
    /* no exposures: an uplift model needs a promotion log first, said for this workspace */
    T_ASSERT_CONTAINS(out, "promotion log (exposures");
    T_ASSERT_CONTAINS(out, ws);
    T_ASSERT(strstr(out, "--model uplift --predictions-out DIR") == NULL);
    free(out);
    free(err);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/out", ws);
    char *html = read_in(dir, "report.html");
    T_ASSERT(html != NULL);
    T_ASSERT_CONTAINS(html, "promo train --ws DIR --model propensity");
    T_ASSERT_CONTAINS(html, "promotion log (exposures");
    T_ASSERT(strstr(html, "promo train --ws DIR --model uplift") == NULL);
    T_ASSERT_CONTAINS(html, "promo generate");
    T_ASSERT_CONTAINS(html, "promo segment --ws DIR --method personas");
    T_ASSERT_EQ_INT(check_images(html, dir), 0);
    free(html);
    char *txt = read_in(dir, "evaluation_report.txt");
    T_ASSERT(txt != NULL);
    T_ASSERT_CONTAINS(txt, "no propensity evaluation");
    free(txt);
}

/* --out that is a file, or under one: exit 2 naming it, nothing written anywhere. */
T_TEST(report_bad_out_exits_2_and_writes_nothing)
{
    const char *ws = trained_ws();
    char file[1200], under[1300], args[3000], *err = NULL;
    snprintf(file, sizeof file, "%s/a_file", t_tmpdir());
    t_write_file(file, "x", 1);
    char outdir[1200];
    snprintf(outdir, sizeof outdir, "%s/out", ws);
    char *before = t_dir_digest(outdir);
    snprintf(args, sizeof args, "report --ws '%s' --out '%s'", ws, file);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, file);
    T_ASSERT_CONTAINS(err, "not a directory");
    free(err);
    snprintf(under, sizeof under, "%s/sub", file);
    snprintf(args, sizeof args, "report --ws '%s' --out '%s'", ws, under);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, under);
    free(err);
    char *after = t_dir_digest(outdir);
    T_ASSERT_STR_EQ(before, after);
    size_t n = 0;
    char *data = t_read_file(file, &n);
    T_ASSERT(data && n == 1 && data[0] == 'x');
    free(data);
    free(before);
    free(after);
    /* a workspace that is not one is bad input too */
    snprintf(args, sizeof args, "report --ws '%s/none'", t_tmpdir());
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 2);
}

T_TEST(report_help_lists_every_option)
{
    char *out = NULL;
    T_ASSERT_EQ_INT(t_promo("report --help", &out, NULL), 0);
    static const char *const opts[] = {"--ws",         "--out",         "--product",
                                       "--discount",   "--target",      "--draws",
                                       "--no-compare", "--no-segments", "--uplift-predictions",
                                       "--threads",    "--json"};
    for (size_t k = 0; k < sizeof opts / sizeof *opts; k++)
        T_ASSERT_CONTAINS(out, opts[k]);
    T_ASSERT_CONTAINS(out, "report.html");
    free(out);
}

/* A workspace with a promotion log but no uplift model: the hint is the train command with
 * the workspace's real path, not a literal DIR (issue 16). */
T_TEST(report_uplift_hint_names_the_workspace)
{
    char ws[1100], args[2600], *out = NULL, *err = NULL;
    snprintf(ws, sizeof ws, "%s/logged", t_tmpdir());
    snprintf(args, sizeof args,
             "generate --ws %s --customers 120 --products 20 --transactions 3000 --seed 3 -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "report --ws %s --no-compare --no-segments", ws);
    int ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec == 0, "exit %d: %s", ec, err);
    char want[2400];
    snprintf(want, sizeof want,
             "no uplift section yet: promo train --ws %s --model uplift --predictions-out "
             "%s/out/uplift_predictions.csv",
             ws, ws);
    T_ASSERT_CONTAINS(out, want);
    T_ASSERT(strstr(out, "promotion log (exposures") == NULL);
    free(out);
    free(err);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/out", ws);
    char *html = read_in(dir, "report.html");
    T_ASSERT(html != NULL);
    snprintf(want, sizeof want, "promo train --ws %s --model uplift", ws);
    T_ASSERT_CONTAINS(html, want);
    free(html);
}
