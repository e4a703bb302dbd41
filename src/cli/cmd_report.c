/* promo report: the evaluation report (promo/report_html.h): report.html with its charts and
 * evaluation_report.txt, from what the workspace stores. Parses, prints the figures of
 * `promo evaluate` into the text (the same printer), and says where everything went. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/recommend.h>
#include <promo/report.h>
#include <promo/report_html.h>
#include <promo/store.h>

#include "cli/cli.h"

/* What `promo evaluate` prints (every propensity target, and the expansion evaluation), into
 * a new buffer *text (free) of *n bytes. */
static int evaluate_text(promo_store *s, char **text, size_t *n)
{
    *text = NULL;
    *n = 0;
    promo_propensity_report *r = NULL;
    size_t nr = 0;
    promo_expansion_report xr;
    int has_x = 0;
    promo_rec_evaluation *re = NULL;
    size_t nre = 0;
    int rc = promo_report_propensity_read(s, &r, &nr);
    if (!rc)
        rc = promo_report_expansion_read(s, &xr, &has_x);
    if (!rc)
        rc = promo_rec_evaluations_read(s, &re, &nre);
    FILE *f = rc ? NULL : open_memstream(text, n);
    if (!f) {
        promo_free(r);
        promo_free(re);
        return rc ? rc : promo_fail(PROMO_ENOMEM, "report: out of memory");
    }
    if (nr)
        cli_print_propensity(f, r, nr, 0);
    if (has_x) {
        if (nr)
            fputc('\n', f);
        cli_print_expansion(f, &xr, 0);
    }
    if (nre) {
        if (nr || has_x)
            fputc('\n', f);
        cli_print_recommend_evals(f, re, nre, 0);
    }
    promo_free(r);
    promo_free(re);
    if (fclose(f)) {
        free(*text);
        *text = NULL;
        return promo_fail(PROMO_ENOMEM, "report: out of memory");
    }
    return PROMO_OK;
}

static void print_json(const promo_report_result *r)
{
    printf("{\"html\":");
    cli_json_str(stdout, r->html_path);
    printf(",\"text\":");
    cli_json_str(stdout, r->text_path);
    printf(",\"sections\":{");
    for (int k = 0; k < PROMO_REPORT_SECTION_COUNT; k++)
        printf("%s\"%s\":%s", k ? "," : "", promo_report_section_name((promo_report_section)k),
               r->present[k] ? "true" : "false");
    printf("},\"charts\":[");
    for (size_t k = 0; k < r->n_charts; k++) {
        if (k)
            putchar(',');
        cli_json_str(stdout, r->charts[k]);
    }
    printf("],\"compare_chart\":");
    cli_json_str(stdout, r->compare_chart);
    printf(",\"qini_source\":");
    cli_json_str(stdout, r->qini_source);
    printf(",\"compare\":");
    cli_json_str(stdout, r->compare_line);
    printf("}\n");
}

static const char *const todo_cmd[PROMO_REPORT_SECTION_COUNT] = {
    NULL,
    "promo train --model propensity --target product:ID",
    "promo train --model uplift --predictions-out DIR/out/uplift_predictions.csv",
    "promo generate (the comparison is played in a generated world)",
    "promo segment --method personas",
    "promo train --model als (or bpr, knn, hybrid)"};

int cmd_report(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *product = "best";
    promo_report_params p = promo_report_params_default();
    double target = 0, draws = p.n_draws;
    int json = 0, no_compare = 0, no_segments = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_PATH("out", "DIR", &p.out_dir),
         .help = "where report.html, its charts and evaluation_report.txt go\n"
                 "(created if missing; its parent must exist)",
         .def = "DIR/out"},
        {CLI_STRING("product", "ID|best", &product),
         .help = "the strategy comparison's product; `best` = the best seller"},
        {CLI_NUMBER("discount", "PCT", 0, 90, &p.discount_pct),
         .help = "the strategy comparison's offer, 0-90"},
        {CLI_UINT("target", "N", 0, 100000000, &target),
         .help = "customers of the top-N strategies", .def = "a tenth of the customers"},
        {CLI_UINT("draws", "N", 1, 100000, &draws), .help = "simulated draws of the comparison"},
        {CLI_FLAG("no-compare", &no_compare), .help = "skip the strategy comparison"},
        {CLI_FLAG("no-segments", &no_segments), .help = "skip the segment profiles"},
        {CLI_PATH("uplift-predictions", "FILE.csv", &p.uplift_predictions),
         .help = "held-out uplift predictions for the Qini curve (promo train\n"
                 "--model uplift --predictions-out FILE)",
         .def = "DIR/out/uplift_predictions.csv"},
        {CLI_THREADS(&p.n_threads)},
        {CLI_JSON(&json), .help = "print where everything went as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "report",
        .usage = "usage: promo report --ws DIR [--out DIR] [--json]\n",
        .about = "Write the evaluation report: report.html (a summary for a marketer, then a\n"
                 "section per model with its figures and charts: precision-recall, calibration\n"
                 "and gains of the propensity model on its test window, the Qini curve of the\n"
                 "uplift model on held-out randomised exposures, the strategy comparison played\n"
                 "in a generated world's simulator, segment profiles, recommenders), the PNG\n"
                 "charts beside it, and evaluation_report.txt with every figure of promo\n"
                 "evaluate and the other stored evaluations. Nothing is trained; the workspace is\n"
                 "only read. A missing model is a section saying what to run.\n",
        .opts = opts,
        .epilog = "exit status: 0 written, 2 bad input (--out not a writable directory, a\n"
                  "workspace that is not one), 1 internal failure\n",
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    p.n_target = (size_t)target;
    p.n_draws = (uint32_t)draws;
    p.compare = !no_compare;
    p.segments = !no_segments;
    p.product_id = strcmp(product, "best") ? product : NULL;
    if (p.uplift_predictions && access(p.uplift_predictions, R_OK) != 0)
        return cli_usage_error("report", "--uplift-predictions %s: cannot read it: %s",
                               p.uplift_predictions, strerror(errno));
    /* A bad --out is the user's to fix, and is found before anything is read or written. */
    if (p.out_dir && promo_report_out_dir_check(p.out_dir)) {
        fprintf(stderr, "promo report: %s\n", promo_last_error());
        return CLI_EXIT_INPUT;
    }
    promo_store *s = NULL;
    char *text = NULL;
    size_t n = 0;
    promo_report_result *r = promo_calloc(1, sizeof *r);
    int rc = r ? promo_store_open_read(ws, &s) : PROMO_ENOMEM;
    if (!rc && promo_store_has_table(s, PROMO_REPORT_TABLE) &&
        promo_store_check_table(s, PROMO_REPORT_TABLE) == PROMO_EINPUT)
        fprintf(stderr, "promo report: warning: %s\n", promo_last_error());
    if (!rc)
        rc = evaluate_text(s, &text, &n);
    if (!rc)
        rc = promo_report_write_html(s, &p, text, n, r);
    char up_hint[2600] = "";
    if (!rc && !r->present[PROMO_REPORT_UPLIFT]) /* this workspace's command, or why none */
        promo_report_uplift_hint(s, up_hint, sizeof up_hint, NULL);
    promo_store_close(s);
    free(text);
    if (rc) {
        promo_free(r);
        return cli_report(rc);
    }
    if (json) {
        print_json(r);
    } else {
        printf("report: %s\n", r->html_path);
        printf("figures: %s\n", r->text_path);
        printf("charts: %zu PNG beside the report\n", r->n_charts);
        if (r->compare_line[0])
            printf("%s\n", r->compare_line);
        for (int k = 1; k < PROMO_REPORT_SECTION_COUNT; k++) {
            if (r->present[k])
                continue;
            if ((k == PROMO_REPORT_STRATEGIES && no_compare) ||
                (k == PROMO_REPORT_SEGMENTS && no_segments))
                printf("  %s: skipped (--no-%s)\n",
                       promo_report_section_name((promo_report_section)k),
                       k == PROMO_REPORT_SEGMENTS ? "segments" : "compare");
            else
                printf("  no %s section yet: %s\n",
                       promo_report_section_name((promo_report_section)k),
                       k == PROMO_REPORT_UPLIFT && up_hint[0] ? up_hint : todo_cmd[k]);
        }
    }
    promo_free(r);
    return CLI_EXIT_OK;
}
