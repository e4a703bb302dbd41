/* promo uplift on small hand-made CSVs: a planted effect is found with the right sign, the
 * predictions file names its columns and rows right, bad input exits 2 naming what is wrong. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"

#define N_ROWS 3000

/* A deterministic stream of uniforms in [0, 1). */
static double unif(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) * 0x1.0p-53;
}

/* Three arms: "a" lifts visits by 0.5 when x1 > 0.5 (nothing below), "b" lowers them by 0.15
 * everywhere; the control rate is 0.2 + 0.1 * x1. x1 of every row goes to x1_out. */
static void write_planted(const char *path, double *x1_out)
{
    static const char *const arms[] = {"control", "a", "b"};
    static const char *const colours[] = {"red", "green", "blue"};
    size_t cap = (size_t)N_ROWS * 64 + 64, at = 0;
    char *buf = malloc(cap);
    T_ASSERT(buf);
    uint64_t s = 12345;
    at += (size_t)snprintf(buf + at, cap - at, "x1,colour,group,x2,visit\n");
    for (int i = 0; i < N_ROWS; i++) {
        double x1 = unif(&s), x2 = unif(&s);
        int arm = (int)(unif(&s) * 3), colour = (int)(unif(&s) * 3);
        double p = 0.2 + 0.1 * x1 + (arm == 1 && x1 > 0.5 ? 0.5 : 0) - (arm == 2 ? 0.15 : 0);
        int y = unif(&s) < p;
        x1_out[i] = x1;
        at += (size_t)snprintf(buf + at, cap - at, "%.6f,%s,%s,%.6f,%d\n", x1, colours[colour],
                               arms[arm], x2, y);
    }
    t_write_file(path, buf, at);
    free(buf);
}

/* The number after "key": in s (NAN if absent), from the occurrence after `from`. */
static double json_after(const char *s, const char *from, const char *key)
{
    const char *p = from ? strstr(s, from) : s;
    if (!p)
        return NAN;
    p = strstr(p, key);
    return p ? atof(p + strlen(key)) : NAN;
}

T_TEST(uplift_cli_finds_a_planted_effect_and_writes_predictions)
{
    const char *dir = t_tmpdir();
    char path[700], pred[700], args[2000], *out = NULL, *err = NULL;
    static double x1[N_ROWS];
    snprintf(path, sizeof path, "%s/planted.csv", dir);
    snprintf(pred, sizeof pred, "%s/pred.csv", dir);
    write_planted(path, x1);
    snprintf(args, sizeof args,
             "uplift --data %s --treatment group --outcome visit --learner t --seed 3 --json "
             "--predictions-out %s",
             path, pred);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "uplift: %s", err);
    T_ASSERT_CONTAINS(out, "\"learner\":\"t\",\"rows\":3000,\"train\":");
    /* 30% of every arm x outcome stratum, rounded per stratum */
    double n_test = json_after(out, NULL, "\"test\":");
    T_ASSERT_MSG(n_test >= 895 && n_test <= 905, "held out %g", n_test);
    T_ASSERT_CONTAINS(out, "\"outcome\":\"binary\",\"control\":\"control\"");
    T_ASSERT_CONTAINS(out, "{\"column\":\"colour\",\"encoding\":\"one-hot\",\"width\":3}");
    /* arm a: positive Qini and positive ATE; arm b: negative ATE */
    double qa = json_after(out, "{\"arm\":\"a\"", "\"qini\":");
    double atea = json_after(out, "{\"arm\":\"a\"", "\"ate\":");
    double ateb = json_after(out, "{\"arm\":\"b\"", "\"ate\":");
    T_ASSERT_MSG(qa > 0.05, "qini of a %g: %s", qa, out);
    T_ASSERT_MSG(atea > 0.1 && ateb < 0, "ate a %g b %g", atea, ateb);
    T_ASSERT_CONTAINS(out, "\"policies\":[{\"policy\":\"best arm\"");
    /* the four groups' profiles: a's persuadables are those with a large x1 (a's effect grows
     * with it), x1 their most distinctive feature */
    const char *pa = strstr(out, "{\"arm\":\"a\"");
    T_ASSERT(pa);
    pa = strstr(pa, "\"profiles\":{\"persuadables\":[{\"feature\":\"x1\",");
    T_ASSERT_MSG(pa != NULL, "%s", out);
    T_ASSERT_MSG(json_after(pa, NULL, "\"sd_from_mean\":") > 0.2, "%s", pa);
    free(out);
    free(err);

    /* the predictions: header, one row per held-out row, rows distinct and in range, and the
     * effect of a follows x1 while b's is negative on average */
    char *csv = t_read_file(pred, NULL);
    T_ASSERT(csv);
    T_ASSERT_MSG(!strncmp(csv, "row,a,b,best_arm\n", 17), "%.40s", csv);
    static uint8_t seen[N_ROWS];
    memset(seen, 0, sizeof seen);
    size_t n = 0, n_hi = 0, n_lo = 0, best_a_hi = 0;
    double hi = 0, lo = 0, b_sum = 0;
    long prev = -1;
    for (char *line = strchr(csv, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        char *end = NULL;
        long r = strtol(line, &end, 10);
        T_ASSERT(*end == ',' && r >= 0 && r < N_ROWS && !seen[r] && r > prev);
        seen[r] = 1;
        prev = r;
        double ea = strtod(end + 1, &end);
        T_ASSERT(*end == ',');
        double eb = strtod(end + 1, &end);
        T_ASSERT(*end == ',');
        const char *best = end + 1;
        T_ASSERT(!strncmp(best, "a\n", 2) || !strncmp(best, "b\n", 2) ||
                 !strncmp(best, "control\n", 8));
        if (x1[r] > 0.6) {
            hi += ea;
            n_hi++;
            best_a_hi += !strncmp(best, "a\n", 2);
        } else if (x1[r] < 0.4) {
            lo += ea;
            n_lo++;
        }
        b_sum += eb;
        n++;
    }
    T_ASSERT_EQ_INT(n, (size_t)n_test);
    hi /= (double)n_hi;
    lo /= (double)n_lo;
    T_ASSERT_MSG(hi > 0.25 && hi > lo + 0.2, "effect of a: x1 > 0.6 %g, x1 < 0.4 %g", hi, lo);
    T_ASSERT_MSG(b_sum / (double)n < 0, "mean effect of b %g", b_sum / (double)n);
    T_ASSERT_MSG(best_a_hi > n_hi * 8 / 10, "best arm a on %zu of %zu", best_a_hi, n_hi);
    free(csv);

    /* the table: the same split for the same seed, and costs move the policy */
    snprintf(args, sizeof args,
             "uplift --data %s --treatment group --outcome visit --seed 3 --features x1,colour "
             "--cost a=0.9 --margin 1",
             path);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "uplift: %s", err);
    T_ASSERT_CONTAINS(out, "3000 rows (");
    T_ASSERT_CONTAINS(out, " held out, stratified by arm and outcome)");
    T_ASSERT_CONTAINS(out, "features (4 columns): x1, colour (one-hot)");
    T_ASSERT_CONTAINS(out, "best arm ");
    free(out);
    free(err);
}

/* One bad command line: exit 2 and every `want` in stderr. */
static void bad(const char *args, const char *want1, const char *want2)
{
    char *out = NULL, *err = NULL;
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 2, "promo %s: exit %d, %s", args, rc, err);
    T_ASSERT_MSG(strstr(err, want1), "promo %s: no \"%s\" in: %s", args, want1, err);
    if (want2)
        T_ASSERT_MSG(strstr(err, want2), "promo %s: no \"%s\" in: %s", args, want2, err);
    free(out);
    free(err);
}

T_TEST(uplift_cli_bad_input_exits_2_naming_file_column_option)
{
    const char *dir = t_tmpdir();
    char path[700], p2[700], p3[700], p4[700], args[2000], want[800];
    static double x1[N_ROWS];
    snprintf(path, sizeof path, "%s/planted.csv", dir);
    write_planted(path, x1);

    snprintf(args, sizeof args, "uplift --data %s --treatment group --outcome nosuch", path);
    snprintf(want, sizeof want, "%s:1: missing required column 'nosuch'", path);
    bad(args, want, NULL);
    snprintf(args, sizeof args, "uplift --data %s --treatment nosuch --outcome visit", path);
    bad(args, "missing required column 'nosuch'", path);
    snprintf(args, sizeof args,
             "uplift --data %s --treatment group --outcome visit "
             "--features x1,nosuch",
             path);
    bad(args, "--features", "'nosuch'");
    snprintf(args, sizeof args,
             "uplift --data %s --treatment group --outcome visit "
             "--control zzz",
             path);
    bad(args, "--control 'zzz' is not a value of column 'group'", "'a', 'b', 'control'");
    snprintf(args, sizeof args,
             "uplift --data %s --treatment group --outcome visit "
             "--test-frac 0",
             path);
    bad(args, "--test-frac", NULL);
    snprintf(args, sizeof args,
             "uplift --data %s --treatment group --outcome visit "
             "--test-frac 1",
             path);
    bad(args, "--test-frac", NULL);
    snprintf(args, sizeof args,
             "uplift --data %s --treatment group --outcome visit "
             "--cost nosuch=1",
             path);
    bad(args, "--cost", "'nosuch'");
    snprintf(args, sizeof args, "uplift --data %s/none.csv --treatment group --outcome visit", dir);
    bad(args, "none.csv", NULL);
    snprintf(args, sizeof args, "uplift --data %s --treatment group --outcome group", path);
    bad(args, "--treatment and --outcome", NULL);

    /* a non-numeric outcome: FILE:LINE:COL */
    snprintf(p2, sizeof p2, "%s/text.csv", dir);
    const char *text = "x,arm,y\n1,control,0\n2,t,1\n3,t,yes\n4,control,1\n";
    t_write_file(p2, text, strlen(text));
    snprintf(args, sizeof args, "uplift --data %s --treatment arm --outcome y --control control",
             p2);
    snprintf(want, sizeof want, "%s:4:3: column 'y'", p2);
    bad(args, want, NULL);
    /* an empty outcome: FILE:LINE:COL too */
    const char *empty = "x,arm,y\n1,control,0\n2,t,1\n3,t,\n4,control,1\n";
    t_write_file(p2, empty, strlen(empty));
    snprintf(want, sizeof want, "%s:4:3: column 'y': empty value", p2);
    bad(args, want, NULL);
    /* one arm only */
    snprintf(p3, sizeof p3, "%s/one.csv", dir);
    const char *one = "x,arm,y\n1,control,0\n2,control,1\n3,control,0\n4,control,1\n";
    t_write_file(p3, one, strlen(one));
    snprintf(args, sizeof args, "uplift --data %s --treatment arm --outcome y", p3);
    bad(args, "column 'arm' has 1 distinct value ('control')", p3);
    /* no default control value */
    snprintf(p4, sizeof p4, "%s/nodefault.csv", dir);
    const char *nod = "x,arm,y\n1,p,0\n2,q,1\n3,p,0\n4,q,1\n";
    t_write_file(p4, nod, strlen(nod));
    snprintf(args, sizeof args, "uplift --data %s --treatment arm --outcome y", p4);
    bad(args, "--control", "'p', 'q'");
}

/* Other outcomes are measured after the treatment: by default they are not features (a
 * conversion implies a visit), and naming them in --features still uses them. */
T_TEST(uplift_cli_leaves_other_outcomes_out_of_the_default_features)
{
    const char *dir = t_tmpdir();
    char path[700], args[2000], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/outcomes.csv", dir);
    char csv[4096];
    size_t at = (size_t)snprintf(csv, sizeof csv, "x,segment,visit,conversion,Spend\n");
    for (int i = 0; i < 80; i++) /* 40 rows an arm; the treated visit more */
        at += (size_t)snprintf(csv + at, sizeof csv - at, "%d,%s,%d,%d,%d\n", i % 8,
                               i % 2 ? "mail" : "control", (i % 3 == 0) || (i % 2 && i % 4 == 1),
                               i % 6 == 0, i % 6 == 0 ? 10 : 0);
    t_write_file(path, csv, at);
    snprintf(args, sizeof args,
             "uplift --data %s --treatment segment --outcome visit --learner t --json "
             "--test-frac 0.5",
             path);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "uplift: %s", err);
    T_ASSERT_CONTAINS(err, "column 'conversion' left out of the features");
    T_ASSERT_CONTAINS(err, "column 'Spend' left out of the features");
    T_ASSERT_CONTAINS(out, "{\"column\":\"x\"");
    T_ASSERT(!strstr(out, "\"column\":\"conversion\"") && !strstr(out, "\"column\":\"Spend\""));
    free(out);
    free(err);
    snprintf(args, sizeof args,
             "uplift --data %s --treatment segment --outcome visit --learner t --json "
             "--test-frac 0.5 --features x,conversion",
             path);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "uplift: %s", err);
    T_ASSERT_CONTAINS(out, "\"column\":\"conversion\"");
    free(out);
    free(err);
}

/* A 0/1 treatment flag (Lenta, Criteo) needs no --control: 0 is the control arm. */
T_TEST(uplift_cli_zero_is_the_default_control_of_a_flag)
{
    char path[700], args[1400], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/flag.csv", t_tmpdir());
    char csv[4096];
    size_t at = (size_t)snprintf(csv, sizeof csv, "x,is_treatment,y\n");
    for (int i = 0; i < 80; i++)
        at += (size_t)snprintf(csv + at, sizeof csv - at, "%d,%d,%d\n", i % 8, i % 2,
                               (i % 3 == 0) || (i % 2 && i % 4 == 1));
    t_write_file(path, csv, at);
    snprintf(args, sizeof args,
             "uplift --data %s --treatment is_treatment --outcome y --learner t --json "
             "--test-frac 0.5",
             path);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "uplift: %s", err);
    T_ASSERT_CONTAINS(out, "\"control\":\"0\"");
    T_ASSERT_CONTAINS(out, "{\"arm\":\"1\"");
    free(out);
    free(err);
}

/* A rare binary outcome (2 conversions in 400 rows) still runs, but says its figures are noise;
 * the planted data, with hundreds of visits per arm, does not. */
T_TEST(uplift_cli_warns_when_an_arm_has_too_few_outcomes)
{
    const char *dir = t_tmpdir();
    char path[700], args[1000], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/rare.csv", dir);
    char buf[8192];
    size_t at = (size_t)snprintf(buf, sizeof buf, "x,treatment,conversion\n");
    for (int i = 0; i < 400; i++)
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%d,%d,%d\n", i % 17, i % 4 != 0,
                               i == 5 || i == 201);
    t_write_file(path, buf, at);
    snprintf(args, sizeof args, "uplift --data %s --treatment treatment --outcome conversion",
             path);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "uplift: %s", err);
    T_ASSERT_CONTAINS(err, "arm '0' has 0 rows with outcome 1 among its 70 training rows: too "
                           "few to learn from");
    T_ASSERT_CONTAINS(err, "arm '1' has 1 row with outcome 1 among its");
    free(out);
    free(err);
    static double x1[N_ROWS];
    snprintf(path, sizeof path, "%s/planted_many.csv", dir);
    write_planted(path, x1);
    snprintf(args, sizeof args, "uplift --data %s --treatment group --outcome visit", path);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "uplift: %s", err);
    T_ASSERT_MSG(!strstr(err, "too few to learn from"), "%s", err);
    free(out);
    free(err);
}

/* A bandit-like log (obd's layout): a saved pandas index as the unnamed first column, six
 * arms, clicks rare in every one. The index is left out of the default features with a note,
 * the rare arms are one warning line (not six), and the groups' profiles say that a group of
 * every held-out row has no profile. */
T_TEST(uplift_cli_many_rare_arms_one_warning_and_no_index_feature)
{
    const char *dir = t_tmpdir();
    char path[700], args[1000], *out = NULL, *err = NULL;
    snprintf(path, sizeof path, "%s/indexed.csv", dir);
    static char buf[65536];
    size_t at = (size_t)snprintf(buf, sizeof buf, ",item,x,click\n");
    for (int i = 0; i < 1200; i++)
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%d,%d,%d,%d\n", i, i % 6, i % 13,
                               i % 97 == 3);
    t_write_file(path, buf, at);
    snprintf(args, sizeof args, "uplift --data %s --treatment item --outcome click --control 0",
             path);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "uplift: %s", err);
    T_ASSERT_CONTAINS(err, "column 'column_1' left out of the features (a row number");
    T_ASSERT_CONTAINS(err, "6 of 6 arms have fewer than 10 training rows of one outcome ('0' ");
    T_ASSERT_CONTAINS(err, ", ...): too few to learn from");
    T_ASSERT_MSG(!strstr(err, "arm '3' has"), "one line for all arms: %s", err);
    T_ASSERT_CONTAINS(out, "features (1 columns): x");
    free(out);
    free(err);
    /* named in --features, the index is used */
    snprintf(args, sizeof args,
             "uplift --data %s --treatment item --outcome click --control 0 --features "
             "column_1,x",
             path);
    rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "uplift: %s", err);
    T_ASSERT_CONTAINS(out, "features (2 columns): column_1, x");
    free(out);
    free(err);
}
